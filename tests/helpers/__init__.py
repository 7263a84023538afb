"""What several test modules share: paths, app factories, waiting on the screen, traffic makers.
No test module imports another test module; they import from here."""
