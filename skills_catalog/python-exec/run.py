"""Runs the program from the input and reports what it printed (inside the sandbox)."""

import contextlib
import io
import json
import sys
import traceback


def main() -> None:
    request = json.load(sys.stdin)
    printed = io.StringIO()
    error = None
    with contextlib.redirect_stdout(printed):
        try:
            # Running the caller's program is what this tool is for (B102): it is elevated, and
            # a person approves each program before it runs, in a sandbox without network.
            exec(compile(request["code"], "<program>", "exec"), {"__name__": "__main__"})  # nosec B102
        except BaseException:  # the program's failure, SystemExit included, is the result
            error = traceback.format_exc().strip().splitlines()[-1]
    json.dump({"stdout": printed.getvalue(), "error": error}, sys.stdout)


main()
