# contrib/systemd/: the service unit, the user it runs as (sysusers.d) and
# an example /etc/coffer/coffer.json, installed by `make install` (DESTDIR
# is respected). The unit gets this build's paths; an existing
# coffer.json is never overwritten.
systemdsystemunit_DATA = contrib/systemd/cofferd.service
contrib/systemd/cofferd.service: $(srcdir)/contrib/systemd/cofferd.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) contrib/systemd && \
	sed -e 's|@sbindir[@]|$(sbindir)|g' -e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	  $(srcdir)/contrib/systemd/cofferd.service.in >$@.tmp && mv $@.tmp $@
CLEANFILES += contrib/systemd/cofferd.service
EXTRA_DIST += contrib/systemd/cofferd.service.in contrib/systemd/coffer.json \
	contrib/systemd/coffer.sysusers.conf

install-data-local:
	$(MKDIR_P) '$(DESTDIR)$(sysusersdir)' '$(DESTDIR)$(sysconfdir)/coffer'
	$(INSTALL_DATA) $(srcdir)/contrib/systemd/coffer.sysusers.conf \
	  '$(DESTDIR)$(sysusersdir)/coffer.conf'
	if test -e '$(DESTDIR)$(sysconfdir)/coffer/coffer.json'; then \
	  echo "keeping the existing $(DESTDIR)$(sysconfdir)/coffer/coffer.json"; \
	else \
	  $(INSTALL) -m 0640 $(srcdir)/contrib/systemd/coffer.json \
	    '$(DESTDIR)$(sysconfdir)/coffer/coffer.json'; \
	fi

uninstall-local:
	rm -f '$(DESTDIR)$(sysusersdir)/coffer.conf'
