// Package pkgtest tests the distribution packages as an administrator
// meets them: `make deb` builds them, and inside a testbed (a real systemd
// whose /usr, /etc and /var are overlays, so dpkg changes nothing of the
// host) they are installed, upgraded, removed and purged while programs
// are attached. Its tests skip when dpkg-buildpackage or debhelper is
// missing (`make deps` installs them) or when not root.
package pkgtest
