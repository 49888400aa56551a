"""The SPARK 2022 Stream 1 classes, in the official order: index = YOLO class id."""

CLASS_NAMES: tuple[str, ...] = (
    "proba_2",
    "cheops",
    "debris",
    "double_star",
    "earth_observation_sat_1",
    "lisa_pathfinder",
    "proba_3_csc",
    "proba_3_ocs",
    "smart_1",
    "soho",
    "xmm_newton",
)
NUM_CLASSES = len(CLASS_NAMES)
CLASS_IDS: dict[str, int] = {name: i for i, name in enumerate(CLASS_NAMES)}
