from deltaprop.cli.main import main

raise SystemExit(main())
