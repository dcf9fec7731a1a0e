from uprbuzz.entry import main

main()
