"""Documents: the derivation and worked solutions in LaTeX and Markdown, with the words of each language."""
