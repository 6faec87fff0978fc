from runner.cli import program

program()
