"""Genome browsers: igv.js pages (``igvjs``: a scan's ``report.html`` and the server's page),
``popgen-hub serve`` (``server``: scan folders and inputs with HTTP Range support, and scores
computed on demand for the region in view), a running IGV desktop over its batch port
(``igv_live``: ``popgen-hub igv``), with igv.js and the JBrowse 2 plugin shipped inside the
package (``static/``)."""
