"""The launcher's exit status: the worst child's, as a shell would report it."""

from spacehpo.hpo.faults import EXIT_FAULTY_HOST
from spacehpo.hpo.launch import exit_status


def test_a_child_killed_by_a_signal_reads_as_128_plus_the_signal() -> None:
    assert exit_status(-9) == 137 and exit_status(-15) == 143


def test_exit_codes_pass_through() -> None:
    assert exit_status(0) == 0 and exit_status(EXIT_FAULTY_HOST) == EXIT_FAULTY_HOST
