from hullcheck.cli.app import main

main()
