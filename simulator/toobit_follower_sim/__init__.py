"""A stateful simulator of the Toobit copy-trading follower API.

    from toobit_follower_sim import create_app, SimOptions
    app = create_app(seed=None, db=None, options=SimOptions(admin=True))

It verifies what arrives on the wire on its own (it never imports the client package).
Every operation of the generated table is routed to its business rule, the method of
`FollowerService` named after it (service.py); `create_app(service=MyService)` adds rules.
"""

from .app import DropConnection, SimApp, SimOptions, Simulator, create_app, wall_clock_ms
from .faults import FaultSpec, FaultSpecError
from .seed import DEFAULT_SEED_PATH, SeedError, load_seed
from .service import Call, FollowerService, missing_rules
from .signing import DEMO_SECRET

DEMO_API_KEY = "SRQGN9M8Sr87nbfKsaSxm33Y6CmGVtUu9Erz73g9vHFNn36VROOKSaWBQ8OSOtSq"

__all__ = [
    "DEFAULT_SEED_PATH",
    "DEMO_API_KEY",
    "DEMO_SECRET",
    "Call",
    "DropConnection",
    "FaultSpec",
    "FaultSpecError",
    "FollowerService",
    "SeedError",
    "SimApp",
    "SimOptions",
    "Simulator",
    "create_app",
    "load_seed",
    "missing_rules",
    "wall_clock_ms",
]
