"""The address book: contact lists, contacts, opt-outs and imports."""
