from rassist.cli.main import main

main()
