# Parameter expansions driving a while loop and an if.
s=xxxxx
while [ -n "$s" ]; do
  if [ ${#s} -eq 3 ]; then
    echo "${#s}: halfway"
  else
    echo "${#s}"
  fi
  s=${s%x}
done
name=minish.fusevm.example
echo "${name%%.*} ${name#*.} ${name##*.} ${name^^}"
echo "${unset_var:-default} ${name/fusevm/VM}"
