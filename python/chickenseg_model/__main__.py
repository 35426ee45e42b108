from chickenseg_model.cli import main

raise SystemExit(main())
