"""The retrieval browser of ``sgrn serve``: a web page over the trained runs under results/."""
