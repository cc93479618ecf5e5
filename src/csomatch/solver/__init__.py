"""The optimisation core: a pure function from a `Problem` to a `Solution`.

Imports only the standard library, msgspec and OR-Tools (with numpy, which OR-Tools brings);
never the database, the clock, the environment or the network.
"""

from csomatch.solver.check import check_solution
from csomatch.solver.compiled import ProblemError
from csomatch.solver.core import solve, solve_arrays
from csomatch.solver.problem import (
    Arc,
    Assignment,
    Demand,
    Problem,
    Provider,
    Solution,
    SolveParams,
)

__all__ = [
    "Arc",
    "Assignment",
    "Demand",
    "Problem",
    "ProblemError",
    "Provider",
    "Solution",
    "SolveParams",
    "check_solution",
    "solve",
    "solve_arrays",
]
