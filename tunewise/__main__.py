from tunewise.cli.main import main

main()
