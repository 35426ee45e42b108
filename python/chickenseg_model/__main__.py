import sys

try:
    from chickenseg_model.cli import main

    code = main()
except KeyboardInterrupt:  # Ctrl-C while the libraries load, before main() catches it itself
    print("error: interrupted (Ctrl-C)", file=sys.stderr)
    code = 130
raise SystemExit(code)
