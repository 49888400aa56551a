from spacehpo.cli.main import main

main()
