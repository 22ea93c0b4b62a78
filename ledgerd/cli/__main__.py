from ledgerd.cli import app

app()
