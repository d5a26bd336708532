"""HTTP routes: thin, they validate, call the domain modules and shape the answer."""
