"""Loading trainables by path, because `--trainable module:function` is how other models plug
in, and a wrong path must be one clear line."""

import pytest
from spacehpo.hpo.core.errors import HpoError
from spacehpo.hpo.engine.trainable import DETECTOR, canonical, detector, load_trainable


def test_trainables_load_by_path() -> None:
    assert load_trainable(DETECTOR) is detector
    with pytest.raises(HpoError, match="cannot import"):
        load_trainable("nowhere:fn")


def test_a_study_naming_the_detectors_old_module_still_gets_the_detector() -> None:
    assert canonical("spacehpo.hpo.trainable:detector") == DETECTOR
    assert load_trainable("spacehpo.hpo.trainable:detector") is detector
    assert canonical("tests.hpo.fakes:scored") == "tests.hpo.fakes:scored"


def test_a_path_to_something_not_callable_is_refused() -> None:
    with pytest.raises(HpoError, match="'spacehpo.hpo.engine.trainable:DATA': not a function"):
        load_trainable("spacehpo.hpo.engine.trainable:DATA")
