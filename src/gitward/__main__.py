from gitward.cli import main

main()
