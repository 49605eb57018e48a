#!/bin/sh
# Stop the service before its files go away (not on upgrade).
case "$1" in
remove | 0)
	if [ -d /run/systemd/system ]; then
		systemctl stop siemfwd.service >/dev/null 2>&1 || true
		systemctl disable siemfwd.service >/dev/null 2>&1 || true
	fi
	;;
esac
