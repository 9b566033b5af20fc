"""Background work: continuing long runs and firing timers, claimed from the jobs table."""
