# Exit statuses with && and ||, a subshell, negation and an EXIT trap.
trap 'echo "exit trap ran"' EXIT
false || echo "false failed as expected"
true && echo "true succeeded"
(exit 3)
echo "subshell said $?"
if ! grep -q nomatch /dev/null; then echo "grep found nothing"; fi
ls /nonexistent 2>/dev/null || echo "ls failed with $?"
