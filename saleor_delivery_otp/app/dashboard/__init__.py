"""The App's two pages inside Saleor's Dashboard: the order widget
(:mod:`.widget`) and the configuration page (:mod:`.configuration`), both
authenticated by the token the Dashboard hands them (:mod:`.auth`)."""
