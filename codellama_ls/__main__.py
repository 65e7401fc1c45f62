from codellama_ls.cli import main

raise SystemExit(main())
