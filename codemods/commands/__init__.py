"""One codemod command per module; ``codemods.registry()`` collects them."""
