"""Shared fixtures."""

import pytest

from cases import PROBLEMS


@pytest.fixture(params=sorted(PROBLEMS))
def problem_and_x0(request):
    problem, x0 = PROBLEMS[request.param]
    return problem, x0.copy()
