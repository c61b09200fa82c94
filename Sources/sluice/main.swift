import SluiceCLI

// `sluice`: the command line, with the built-in programs (Sources/SluiceCLI holds the commands).
SluiceCLI.main()
