"""One module per site of the demo web: each lays out its pages and renders them to HTML."""
