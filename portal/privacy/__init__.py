"""The data subject's rights for compliance and the administrators: look a person up, export, erase.

Importing this package registers every domain package's holder with compliance.privacy (see `holders`)."""
