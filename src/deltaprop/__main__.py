from deltaprop.cli import main

raise SystemExit(main())
