# Classify files by name with case, in a scratch directory that is removed at the end.
dir=$(mktemp -d)
cd "$dir" || exit 1
for name in notes.txt main.c util.h README build.sh data.csv; do
  echo "content of $name" > "$name"
done
for f in *; do
  case $f in
    *.c|*.h) kind=source ;;
    *.txt|README) kind=text ;;
    *.sh) kind=script ;;
    *) kind=other ;;
  esac
  echo "$f: $kind ($(wc -c < "$f") bytes)"
done
echo "headers: $(echo *.h), nothing: $(echo *.none)"
cd /
rm -r "$dir" && echo cleaned
