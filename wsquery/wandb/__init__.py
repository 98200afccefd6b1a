"""W&B itself: its formats, the GraphQL client, the saved-view model."""
