"""The ground floor every stage stands on: the error hierarchy (`errors`), redaction of
outside text (`redaction`), time parsing (`timeutil`) and the settings file (`config`).
It imports nothing else of the project."""
