// A bad input for the CLI tests: an undefined symbol on line 3.
        nop
        jmp     nowhere
