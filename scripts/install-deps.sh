#!/usr/bin/env bash
# Installs the Debian packages CommsCredits needs, skipping those already installed.
#
#   scripts/install-deps.sh runtime   # redis-server, postgresql: what `make run` needs
#   scripts/install-deps.sh test      # runtime + what the test suite needs: Debian's python3-grpcio
#                                     # client and protoc with the well-known .proto files
#                                     # (the interop tests use /usr/bin/python3 and /usr/bin/protoc),
#                                     # and prometheus (the metrics tests run /usr/bin/promtool and
#                                     # /usr/bin/prometheus)
#
# apt-get update runs only when something must be installed. Uses sudo when not root. Also checks
# that the .NET SDK pinned by global.json is there, and says how to get it when it is not.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

runtime_packages=(redis-server postgresql)
test_packages=("${runtime_packages[@]}" python3-grpcio python3-protobuf protobuf-compiler libprotobuf-dev prometheus)

fail() {
    echo "install-deps: $*" >&2
    exit 1
}

is_installed() {
    [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
}

# Runs a command as root: directly when we are root, through sudo otherwise.
as_root() {
    if [[ $(id -u) -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null; then
        sudo "$@"
    else
        fail "must run as root or with sudo to install: $*"
    fi
}

install_packages() {
    if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
        fail "this script needs Debian's apt-get and dpkg; install by hand: $*"
    fi
    local missing=() package
    for package in "$@"; do
        if ! is_installed "$package"; then
            missing+=("$package")
        fi
    done
    if ((${#missing[@]} == 0)); then
        echo "install-deps: Debian packages present: $*"
        return 0
    fi
    echo "install-deps: installing ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

check_dotnet() {
    local pinned
    pinned=$(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' "$repo_root/global.json")
    if ! command -v dotnet >/dev/null; then
        fail "dotnet not found. Install the .NET SDK $pinned (pinned in global.json): see https://learn.microsoft.com/dotnet/core/install/linux-debian, or run: curl -sSL https://dot.net/v1/dotnet-install.sh | bash -s -- --version $pinned (then add ~/.dotnet to PATH)"
    fi
    # global.json picks the SDK; dotnet --version fails from the repository when no installed SDK fits.
    if ! (cd "$repo_root" && dotnet --version >/dev/null 2>&1); then
        fail "no installed .NET SDK satisfies global.json (SDK $pinned, same feature band or later); installed: $(dotnet --list-sdks | tr '\n' ' ')"
    fi
    echo "install-deps: .NET SDK $(cd "$repo_root" && dotnet --version)"
}

main() {
    case ${1:-} in
        runtime) install_packages "${runtime_packages[@]}" ;;
        test) install_packages "${test_packages[@]}" ;;
        *)
            echo "usage: $0 runtime|test" >&2
            exit 2
            ;;
    esac
    check_dotnet
}

main "$@"
