// BpftraceSyntax: placeholder until its module lands.
