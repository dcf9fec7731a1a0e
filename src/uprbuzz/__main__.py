from uprbuzz.cli import main

main()
