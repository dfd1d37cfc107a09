"""Review and deliver: picks (`runner pick`), the review web app (`runner review`) and the
delivery folder (`runner export`), over the plan and the state; it never spends credits.

``picking`` records picks (the only file the review writes), ``board`` builds what a page
shows (shots × takes, statuses, filters) from a plan, ``app`` serves it on 127.0.0.1,
``export`` copies the picked takes out with a manifest. Nothing here imports the engine:
the layers contract forbids it, so no page or command of this package can create a task.
"""
