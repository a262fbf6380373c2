"""Printable documents (PDF): the generic renderer (``pdf.render_pdf``) with the base A4 style
shared by every document, and the pieces of the case file (卷宗): its context, a track map drawn
as inline SVG, and photo thumbnails."""
