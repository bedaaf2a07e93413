"""Documents of the AMI engine: PDFs, the DOCX candidature form and its reader, the jury grid."""
