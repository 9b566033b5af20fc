from tests.api.test_timers import *
def test_dbg(admin_api, cafe):
    admin_api.deploy(diagram("timer_race.bpmn"))
    instance = admin_api.start("timer_race")
    print(instance["status"], timer_jobs(cafe, instance["id"]), completed_elements(admin_api, instance["id"]))
