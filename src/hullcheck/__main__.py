from hullcheck.cli.app import main

# Guarded: worker processes that are spawned (the report's chart drawers) import the main module again.
if __name__ == "__main__":
    main()
