"""Client, command hooks and settings installer that plug an AI assistant into the MSP back end."""
