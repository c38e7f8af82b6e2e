#!/usr/bin/env bash
# deps.sh [GROUP...] — install what the make targets need (make deps).
#
# Reads scripts/deps.list, checks each package's commands, and installs the
# Debian packages whose commands are missing with apt-get (one `apt-get
# update` first when the package lists are empty or an install fails for
# want of them). Elsewhere it names the missing packages in one line and
# exits 1. With no GROUP it checks base, test and vm.
#
# BPFUNIT_DEPS_DRY_RUN=1 asks apt-get to --simulate and runs no npm: it
# shows what would be installed without changing the machine.
set -euo pipefail
cd "$(dirname "$0")/.."

list=scripts/deps.list
groups=("$@")
[ ${#groups[@]} -gt 0 ] || groups=(base test vm)
dry=${BPFUNIT_DEPS_DRY_RUN:-}

have() { # have CMD|PATH: is it there? (command -v also names a file it cannot run)
	local p=$1
	case $p in /*) ;; *) p=$(command -v "$p") || return 1 ;; esac
	[ -x "$p" ]
}

# missing prints each package of the groups whose commands are not all there.
missing() {
	local group pkg checks c g seen=" "
	while read -r group pkg checks; do
		case $group in '' | '#'*) continue ;; esac
		for g in "${groups[@]}"; do
			[ "$g" = "$group" ] || continue
			case $seen in *" $pkg "*) continue 2 ;; esac
			for c in $checks; do
				if ! have "$c"; then
					seen+="$pkg "
					echo "$pkg"
					continue 3
				fi
			done
		done
	done <"$list"
}

for g in "${groups[@]}"; do
	grep -qE "^$g[[:space:]]" "$list" || { echo "deps: no group '$g' in $list" >&2; exit 2; }
done

mapfile -t need < <(missing)
if [ ${#need[@]} -gt 0 ]; then
	if ! have apt-get || ! have dpkg; then
		echo "deps: missing packages (Debian names): ${need[*]}; install them with your package manager" >&2
		exit 1
	fi
	if [ -z "$dry" ] && [ "$(id -u)" != 0 ]; then
		echo "deps: missing packages: ${need[*]}; run as root (sudo make deps) to install them" >&2
		exit 1
	fi
	if [ -n "$dry" ]; then echo "deps: would install ${need[*]}"; else echo "deps: installing ${need[*]}"; fi
	export DEBIAN_FRONTEND=noninteractive
	apt=(apt-get -qq -o DPkg::Lock::Timeout=600)
	install=("${apt[@]}" install -y --no-install-recommends)
	[ -z "$dry" ] || install=(apt-get -o DPkg::Lock::Timeout=600 install --simulate -y --no-install-recommends)
	if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null && [ -z "$dry" ]; then
		"${apt[@]}" update
	fi
	if [ -n "$dry" ]; then
		echo "deps: dry run: ${install[*]} ${need[*]}"
		"${install[@]}" "${need[@]}" | grep -E '^Inst ' || true
		exit 0
	fi
	if ! "${install[@]}" "${need[@]}" >/dev/null; then
		"${apt[@]}" update
		"${install[@]}" "${need[@]}" >/dev/null
	fi
	mapfile -t still < <(missing)
	if [ ${#still[@]} -gt 0 ]; then
		echo "deps: installed but commands still missing: ${still[*]} (see $list)" >&2
		exit 1
	fi
fi

# The Cockpit page's browser tests take their npm packages from the lock file.
for g in "${groups[@]}"; do
	[ "$g" = test ] || continue
	lock=cockpit/test/package-lock.json
	[ -f "$lock" ] || break
	stamp=cockpit/test/node_modules/.package-lock.json
	if [ ! -f "$stamp" ] || [ "$lock" -nt "$stamp" ]; then
		if [ -n "$dry" ]; then
			echo "deps: dry run: npm ci --prefix cockpit/test"
		else
			echo "deps: npm ci --prefix cockpit/test"
			npm ci --prefix cockpit/test --no-audit --no-fund --loglevel=error
		fi
	fi
done
