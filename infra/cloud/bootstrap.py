"""Creates a deployed stage's site and first operator through Parley's own storage code.

Run as a child process by the deploy command, with the stage's settings in its environment
(``chalicelib.shared.config`` reads them at import) and the request, password included, on stdin:

    {"site_id", "site_name", "origins" (list or null), "email" (null: no operator step), "name",
     "password", "reset"}
"""
from __future__ import annotations

import json
import sys


def main() -> int:
    request = json.load(sys.stdin)
    from chalicelib import admin

    origins = admin.bootstrap_site(request["site_id"], request["site_name"], request["origins"])
    operator = "kept"
    if request["email"]:
        operator = admin.bootstrap_operator(request["site_id"], request["email"], request["name"],
                                            request["password"], request["reset"])
    json.dump({"origins": origins, "operator": operator}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
