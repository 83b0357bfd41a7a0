# The three most frequent words of a here-document, through a five-stage pipeline.
tr -cs 'A-Za-z' '\n' <<'EOF' | tr 'A-Z' 'a-z' | sort | uniq -c | sort -k1,1nr -k2 | head -n 3
the quick brown fox jumps over the lazy dog
The dog sleeps; the fox runs. A fox is quick.
EOF
