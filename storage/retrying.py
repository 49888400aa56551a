"""`RetryingStorage`: an Optuna storage through which every call rides out a database outage.

Wrapping the storage once means no call site can forget to retry: Optuna's own calls (`tell`,
`report`, the pruner's reads) go through it as much as spacehpo's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from optuna.exceptions import UpdateFinishedTrialError
from optuna.storages import BaseStorage
from optuna.trial import TrialState
from spacehpo.storage.optuna_access import BaseHeartbeat
from spacehpo.storage.retry import Retrier


def _retried(name: str) -> Callable[..., Any]:
    def method(self: RetryingStorage, *args: Any, **kwargs: Any) -> Any:
        call = getattr(self.inner, name)
        return self.retrier.call(lambda: call(*args, **kwargs), name.replace("_", " "))

    method.__name__ = name
    return method


class RetryingStorage(BaseStorage, BaseHeartbeat):
    """Delegates to `inner`; heartbeat methods report "disabled" when `inner` has none."""

    def __init__(self, inner: BaseStorage, retrier: Retrier) -> None:
        self.inner, self.retrier = inner, retrier

    create_new_study = _retried("create_new_study")
    delete_study = _retried("delete_study")
    set_study_user_attr = _retried("set_study_user_attr")
    set_study_system_attr = _retried("set_study_system_attr")
    get_study_id_from_name = _retried("get_study_id_from_name")
    get_study_name_from_id = _retried("get_study_name_from_id")
    get_study_directions = _retried("get_study_directions")
    get_study_user_attrs = _retried("get_study_user_attrs")
    get_study_system_attrs = _retried("get_study_system_attrs")
    get_all_studies = _retried("get_all_studies")
    create_new_trial = _retried("create_new_trial")
    set_trial_param = _retried("set_trial_param")
    get_trial_id_from_study_id_trial_number = _retried("get_trial_id_from_study_id_trial_number")
    get_trial_number_from_id = _retried("get_trial_number_from_id")
    get_trial_param = _retried("get_trial_param")
    set_trial_intermediate_value = _retried("set_trial_intermediate_value")
    set_trial_user_attr = _retried("set_trial_user_attr")
    set_trial_system_attr = _retried("set_trial_system_attr")
    get_trial = _retried("get_trial")
    get_all_trials = _retried("get_all_trials")
    get_n_trials = _retried("get_n_trials")
    get_best_trial = _retried("get_best_trial")
    get_trial_params = _retried("get_trial_params")
    get_trial_user_attrs = _retried("get_trial_user_attrs")
    get_trial_system_attrs = _retried("get_trial_system_attrs")
    check_trial_is_updatable = _retried("check_trial_is_updatable")
    record_heartbeat = _retried("record_heartbeat")
    _get_stale_trial_ids = _retried("_get_stale_trial_ids")

    def set_trial_state_values(
        self, trial_id: int, state: TrialState, values: Sequence[float] | None = None
    ) -> bool:
        """Finishing a trial is verified after an in-doubt commit: a retry that finds the trial
        already in the state (and with the values) it asked for has succeeded, rather than
        failing on `UpdateFinishedTrialError`. Claims (to RUNNING) use `claim_waiting`."""

        def attempt(retry: bool) -> bool:
            try:
                return self.inner.set_trial_state_values(trial_id, state, values)
            except UpdateFinishedTrialError:
                if retry and self._landed(trial_id, state, values):
                    return True
                raise

        return self.retrier.call_checked(attempt, "set trial state values")

    def _landed(self, trial_id: int, state: TrialState, values: Sequence[float] | None) -> bool:
        trial = self.inner.get_trial(trial_id)
        return trial.state == state and (values is None or list(trial.values) == list(values))

    def remove_session(self) -> None:
        self.inner.remove_session()

    @property
    def has_heartbeat(self) -> bool:
        return isinstance(self.inner, BaseHeartbeat) and (
            self.inner.get_heartbeat_interval() is not None
        )

    def get_heartbeat_interval(self) -> int | None:
        return self.inner.get_heartbeat_interval() if self.has_heartbeat else None

    def get_heartbeat_stale_trial_callback(self) -> Any:
        return self.inner.get_heartbeat_stale_trial_callback() if self.has_heartbeat else None
